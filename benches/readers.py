"""A subscriber CSV of ROWS readers whose addresses come in random order, as real lists do
(`user123@example45.org`), the same file for the same ROWS: `python3 benches/readers.py ROWS`."""
import random
import sys

rows = int(sys.argv[1])
rng = random.Random(42)
ids = list(range(rows))
rng.shuffle(ids)
print("email,name")
for i in ids:
    print(f"user{i}@example{rng.randrange(100)}.org,Reader {i}")
