"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "c3709070b01b80ce401d32a8e777f3bb087cbcec99360d1da03a418aa1eb9650"
