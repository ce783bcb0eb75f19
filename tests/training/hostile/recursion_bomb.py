def solve(x):
    return solve(x + 1) + 1
