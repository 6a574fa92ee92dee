r"""Signs a bundle that is already written (byod.py's, or any other) with an ed25519 key: for a key
rotation, the same bundle signed by the new key without training again (docs/byod.md, "Rolling out
a new bundle"). Writes `manifest.sig` over manifest.json's exact bytes and prints the public key;
--new-key makes the key first (KEY, mode 0600, and KEY.pub), refusing to overwrite one.

    python3 models/training/byod_sign.py --bundle ~/shop-bundles/2026-12/bundle --key ~/.config/edgerec/shop-2.key --new-key
"""
import argparse
import os

from byod import check_key_path, public_hex, sign, signing_key


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="the bundle folder (holding manifest.json)")
    p.add_argument("--key", required=True, help="the ed25519 private key (PEM), kept outside the bundle")
    p.add_argument("--new-key", action="store_true", help="make the key first")
    a = p.parse_args()
    if not os.path.isfile(os.path.join(a.bundle, "manifest.json")):
        raise SystemExit(f"--bundle {a.bundle}: no manifest.json there")
    check_key_path(a.key, a.new_key, a.bundle)
    key = signing_key(a.key, a.new_key)
    sign(a.bundle, key)
    print(f"signed {os.path.join(a.bundle, 'manifest.sig')}; pin the public key {public_hex(key)}")


if __name__ == "__main__":
    main()
