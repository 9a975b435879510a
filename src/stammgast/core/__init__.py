"""Cross-cutting pieces every domain app uses: domain errors, tenant scoping, text folding."""
