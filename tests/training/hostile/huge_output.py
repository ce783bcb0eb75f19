import sys

chunk = "x" * 65536 + "\n"
while True:
    sys.stdout.write(chunk)
