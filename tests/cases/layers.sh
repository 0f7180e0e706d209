# The layout: front > features (in registration order) > core > mechanisms
# > base, every call and include pointing down (scripts/layers.sh).

test_layers_calls_and_includes_point_down_only() {
	local out
	out=$(bash scripts/layers.sh "$B" 2>&1) || { echo "$out" | sed 's/^/    /' >&2; fail "an arrow points up"; }
}
