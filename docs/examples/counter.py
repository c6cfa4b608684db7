class Counter:
    def __init__(self):
        self.n = 0

    def add(self, k):
        self.n += k
        return self.n


def total(items):
    c = Counter()
    for x in items:
        c.add(x)
    return c


result = total([3, 4])
print(result.n)
