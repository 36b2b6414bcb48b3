// peernet drop-in entry point (being written)
export {}
