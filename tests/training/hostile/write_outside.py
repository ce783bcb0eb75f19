# The test replaces the targets with paths outside the sandbox's working directory.
TARGETS = ["__TMP_TARGET__", "__REPO_TARGET__"]


def solve(x):
    for target in TARGETS:
        with open(target, "w") as handle:
            handle.write("escaped")
    return x + 1
