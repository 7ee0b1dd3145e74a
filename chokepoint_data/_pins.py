"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "b65e0906977059a14221a5cc632b73e8742e1356db38e2f3ca1eb8252557fe16"
