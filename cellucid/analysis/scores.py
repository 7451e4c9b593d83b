def signature_score(*a, **k): raise NotImplementedError
def correlation(*a, **k): raise NotImplementedError
