// telepathine drop-in entry point (being written)
export {}
