"""Policy engines and what they evaluate: the engine protocol, the embedded engine (regopy) and
OPA's server, bundles and their signatures, served bundles, the Rego reading done before the
engine sees a source, and a bundle's Rego tests."""
