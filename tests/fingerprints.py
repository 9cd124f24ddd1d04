import hashlib


def independent_fingerprint(files: dict[str, bytes]) -> str:
    """The fingerprint recipe of DESIGN §4 and the README, written out independently of the engine."""
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        digest.update(f"{path}\0{len(data)}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return "sha256:" + digest.hexdigest()
