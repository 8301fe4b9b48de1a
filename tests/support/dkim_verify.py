"""Verifies a message's DKIM signature with dkimpy against a public key given on the command line
(no DNS). Usage: dkim_verify.py MESSAGE_FILE PUBLIC_KEY_BASE64 [rsa|ed25519]. Exit 0 if valid."""

import sys

import dkim


def main():
    path, public_key = sys.argv[1], sys.argv[2]
    key_type = sys.argv[3] if len(sys.argv) > 3 else "rsa"
    record = f"v=DKIM1; k={key_type}; p={public_key}".encode()
    with open(path, "rb") as handle:
        message = handle.read()
    valid = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
    print("valid" if valid else "invalid")
    sys.exit(0 if valid else 1)


if __name__ == "__main__":
    main()
