"""Varied (question, code) pairs for cross-backend checks: languages, scripts, lengths, empty code."""

LONG_QUESTION = (
    "You are given an array of integers nums and an integer k. Return the number of contiguous subarrays "
    "whose sum equals k. Constraints: 1 <= nums.length <= 2 * 10^4, -1000 <= nums[i] <= 1000. "
) * 12

VARIED_PAIRS: list[tuple[str, str]] = [
    ("Add two numbers.", "def add(a, b):\n    return a + b"),
    ("Add two numbers.", "def add(a, b):\n    return a - b"),
    ("Reverse a string.", "def rev(s):\n    return s[::-1]"),
    ("Reverse a string.", "def rev(s):\n    return ''.join(reversed(s))"),
    (
        "Fibonacci.",
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
    ),
    ("Fibonacci.", "def fib(n):\n    return fib(n - 1) + fib(n - 2)"),
    ("Sum of a list in JavaScript.", "const sum = (xs) => xs.reduce((a, b) => a + b, 0);"),
    (
        "Sum of a list in TypeScript.",
        "function sum(xs: number[]): number { return xs.reduce((a, b) => a + b, 0); }",
    ),
    (
        "Max of two ints in Go.",
        "package main\n\nfunc max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}",
    ),
    ("Max of two ints in Rust.", "fn max(a: i32, b: i32) -> i32 { if a > b { a } else { b } }"),
    ("Max of two ints in Java.", "class M { static int max(int a, int b) { return a > b ? a : b; } }"),
    ("Max of two ints in C++.", "int max(int a, int b) { return a > b ? a : b; }"),
    ("Écrivez une fonction qui renvoie « bonjour ».", "def salut():\n    return 'bonjour'"),
    ("日本語の文字列を反転してください。", "def 反転(s):\n    return s[::-1]  # 😀"),
    ("Вычислите факториал.", "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)"),
    ("Emoji count 😀🎉", "def count(s):\n    return sum(ch in '😀🎉' for ch in s)"),
    ("Empty answer.", ""),
    ("Whitespace answer.", "   \n\t"),
    (
        LONG_QUESTION,
        "def subarray_sum(nums, k):\n    seen = {0: 1}\n    total = count = 0\n    for x in nums:\n        total += x\n        count += seen.get(total - k, 0)\n        seen[total] = seen.get(total, 0) + 1\n    return count",
    ),
    (
        LONG_QUESTION,
        "def subarray_sum(nums, k):\n    return sum(1 for i in range(len(nums)) if sum(nums[i:]) == k)",
    ),
    ("Long code.", "\n".join(f"value_{i} = {i} * {i}" for i in range(200))),
    (LONG_QUESTION, "\n".join(f"def helper_{i}(x):\n    return x + {i}" for i in range(80))),
    ("", "print('no question')"),
    ("Tab\tand\nnewlines\r\n in question", "x = '\\t'\r\ny = 2"),
    ("Special token text <|im_end|> inside", "s = '<|im_start|>'"),
    ("Code ending with the end-of-text marker.", "x = 1<|endoftext|>"),
    (
        "Binary search.",
        "def bs(a, x):\n    lo, hi = 0, len(a)\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if a[mid] < x:\n            lo = mid + 1\n        else:\n            hi = mid\n    return lo",
    ),
    ("Is prime?", "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))"),
    ("Is prime?", "def is_prime(n):\n    return n % 2 == 1"),
    ("Broken syntax still scores in raw form.", "def f(:\n    return"),
    ("SQL-ish text.", "SELECT name FROM users WHERE id = 1;"),
    ("Markdown in the question: ```python\nx = 1\n```", "x = 1"),
    ("One character.", "x"),
    (
        "Matrix multiply in Rust.",
        "fn mm(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {\n    let n = a.len();\n    let m = b[0].len();\n    let mut c = vec![vec![0.0; m]; n];\n    for i in 0..n { for j in 0..m { for k in 0..b.len() { c[i][j] += a[i][k] * b[k][j]; } } }\n    c\n}",
    ),
]
