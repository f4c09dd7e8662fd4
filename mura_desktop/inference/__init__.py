"""Model bundles, networks, class activation maps and the predictor. torch, never Qt."""
