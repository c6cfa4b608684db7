def ratio(a, b):
    return a / b


ratios = [ratio(6, 3)]
ratios.append(ratio(1, 0))
