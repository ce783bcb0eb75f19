def has_close_elements(numbers, threshold):
    return [True] * 3_000_000
