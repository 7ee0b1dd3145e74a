"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "262422b3a38f5a3aaf4dcff2b42eb10cd9da62358113f790e2fcfa8285fc0cac"
