// coalescent drop-in entry point (being written)
export {}
