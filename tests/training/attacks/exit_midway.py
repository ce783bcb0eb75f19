# Answers the first call right, then leaves the interpreter (__WHEN__: import, first, second).
import os

calls = []
if "__WHEN__" == "import":
    os._exit(0)


def has_close_elements(numbers, threshold):
    calls.append(1)
    if "__WHEN__" == "first" or ("__WHEN__" == "second" and len(calls) == 2):
        os._exit(0)
    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])
