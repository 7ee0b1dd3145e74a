"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "664ba1d662be85a0eaa04c3bfc14aba6a5ee40aeebfeb1a4aaba9b4d77bf5a60"
