"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "b86461b88b3472f684aaefcf531c5b8b330c4c1447c137ddc0138e5c1e131255"
