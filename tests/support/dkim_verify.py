"""Verifies every DKIM signature of a message with dkimpy against public keys given on the
command line (no DNS).

Usage: dkim_verify.py MESSAGE_FILE SELECTOR:TYPE:PUBLIC_KEY_BASE64 [...]
TYPE is rsa or ed25519 (Ed25519 needs PyNaCl). Exit 0 only if the message carries exactly one
signature per key given and each verifies."""

import sys

import dkim


def main():
    path, keys = sys.argv[1], sys.argv[2:]
    records = {}
    for spec in keys:
        selector, key_type, public_key = spec.split(":", 2)
        records[selector] = f"v=DKIM1; k={key_type}; p={public_key}".encode()

    def dnsfunc(name, timeout=5):
        selector = name.decode() if isinstance(name, bytes) else name
        return records.get(selector.split("._domainkey.")[0])

    with open(path, "rb") as handle:
        message = handle.read()
    verifier = dkim.DKIM(message)
    signatures = [
        (name, value) for name, value in verifier.headers if name.lower() == b"dkim-signature"
    ]
    if len(signatures) != len(keys):
        print(f"{len(signatures)} signatures, {len(keys)} keys")
        sys.exit(1)
    for index in range(len(signatures)):
        if not verifier.verify(idx=index, dnsfunc=dnsfunc):
            print(f"signature {index} invalid")
            sys.exit(1)
    print("valid")


if __name__ == "__main__":
    main()
