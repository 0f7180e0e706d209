# The seed's mnist workload (runtime/posix/mnist): the template loads an
# ONNX model with protobuf-c and saves; each fork classifies the held-out
# digit image its args name.  scripts/mnist_model.py made the model, the
# images and held_out.txt ("digits/NNN.pgm LABEL PREDICTION", the
# prediction computed outside any cVM in Python).

MNIST=runtime/posix/mnist

# mnist_yaml DISK NAME:IMAGE...: mnist.yaml's template on DISK and one fork
# per word, every path absolute.
mnist_yaml() {
	local disk=$1 f
	shift
	sed -n '/^---/,/^- name: digit-000$/p' $MNIST/mnist.yaml | sed '$d' |
		sed -e "s|\.\./\.\./\.\./build/|$B/|" -e "s|^\(  disk:\).*|\1 $disk|"
	for f in "$@"; do
		printf -- '- name: %s\n  runtime: %s/runtime/mnist/mnist\n  args: "%s"\n  resume: 1\n  wait: -1\n' \
			"${f%%:*}" "$B" "${f#*:}"
	done
}

# mnist_disk: a copy of the disk in $T/disk that a test may change.
mnist_disk() {
	rm -rf "$T/disk" && cp -r $MNIST/disk "$T/disk" && chmod -R a+rX "$T/disk"
}

MNIST_TEMPLATE_LINE="[mnist] template: model mnist.onnx loaded: input Input3 [1,1,8,8], output Plus214_Output_0 [1,10], 6 initializers, 5 nodes (Reshape Div Gemm Relu Gemm); saving"

test_mnist_example_forks_print_the_output_tensor_and_the_digit() {
	run_iv -a -y $MNIST/mnist.yaml
	expect_rc 0 && expect_out "$MNIST_TEMPLATE_LINE" || return 1
	local i want
	for i in 0 1 2 3 4 5 6 7 8 9; do
		want=$(awk -v f="digits/00$i.pgm" '$1 == f {print $3}' $MNIST/held_out.txt)
		expect_out "[digit-00$i] get arg: \"digits/00$i.pgm\"" &&
			expect_out_has "[digit-00$i] Plus214_Output_0 [1,10]: " &&
			expect_out "[digit-00$i] digit: $want" || return 1
	done
	# 10 scores per output line
	[ "$(grep -F '[digit-003] Plus214_Output_0' <<<"$OUT" | cut -d: -f2 | wc -w)" = 10 ] ||
		fail "the output tensor is not 10 numbers" || return 1
	expect_no_out "[mnist] get arg" && expect_err "template 'mnist' released after 10 fork(s)"
}

# The seed's phases are reported for the template (workload prepare, then
# snapshot) and for each fork (fork, then execute).
test_mnist_metrics_show_the_seeds_phases() {
	run_iv -y $MNIST/mnist.yaml
	expect_rc 0 || return 1
	grep -qE "^MON: metrics 'mnist' \(template, ms\):.* workload_prepare [0-9.]+ snapshot [0-9.]+ " <<<"$ERR" ||
		{ show; fail "no template metrics with workload_prepare and snapshot"; } || return 1
	grep -qE "^MON: metrics 'digit-009' \(fork, ms\): fork [0-9.]+ execute [0-9.]+ total " <<<"$ERR" ||
		{ show; fail "no fork metrics with fork and execute"; }
}

# Every held-out digit, each in a fork of its own (300 forks of one
# template), is classified as the same binary classifies it run as a plain
# process outside any cVM, and as Python computed the model outside (held_out.txt);
# the accuracy is at least 90%.
test_mnist_forks_classify_every_held_out_digit_as_the_native_process_does() {
	local disk=$ROOT/$MNIST/disk f label py names=()
	while read -r f label py; do
		names+=("d${f//[^0-9]/}:$f")
	done <$MNIST/held_out.txt
	mnist_yaml "$disk" "${names[@]}" >"$T/all.yaml"
	run_iv -y "$T/all.yaml"
	expect_rc 0 || return 1
	local n=0 right=0 native_right=0 cvm native
	while read -r f label py; do
		cvm=$(grep -F "[d${f//[^0-9]/}] digit: " <<<"$OUT" | sed 's/.*digit: //')
		native=$(cd "$disk" && timeout 10 "$B/runtime/mnist/mnist" "$f" | sed -n 's/^digit: //p')
		[ -n "$cvm" ] && [ "$cvm" = "$native" ] && [ "$native" = "$py" ] ||
			fail "$f: fork says '$cvm', the native process '$native', Python '$py'" || return 1
		n=$((n + 1))
		[ "$cvm" = "$label" ] && right=$((right + 1))
		[ "$native" = "$label" ] && native_right=$((native_right + 1))
	done <$MNIST/held_out.txt
	[ "$n" = 300 ] && [ "$right" = "$native_right" ] && [ $((right * 100)) -ge $((n * 90)) ] ||
		fail "accuracy: forks $right/$n, native $native_right/$n (at least 90% needed)"
}

# bad_model_case DESCRIPTION EXPECTED_REASON: with $T/disk/mnist.onnx as the
# test made it, the template says why in one line and ends; no fork starts.
bad_model_case() {
	mnist_yaml "$T/disk" a:digits/001.pgm b:digits/002.pgm >"$T/w.yaml"
	run_iv -a -y "$T/w.yaml"
	expect_rc 1 && expect_err "[mnist] mnist: cannot load the model 'mnist.onnx': $1" &&
		expect_err "cVM 'mnist' exited with status 1" &&
		expect_err "cVM 'a' failed: template 'mnist' ended before it saved" &&
		expect_err "cVM 'b' failed: template 'mnist' ended before it saved" &&
		expect_no_out "get arg" && expect_no_out "digit:" && expect_no_out "template: model" || return 1
	[ "$(grep -c '^\[mnist\]' <<<"$ERR")" = 1 ] || { show; fail "not one line from the template"; }
}

test_mnist_truncated_model_starts_no_fork() {
	mnist_disk && head -c 10000 $MNIST/disk/mnist.onnx >"$T/disk/mnist.onnx" &&
		bad_model_case "not an ONNX model: protobuf-c cannot unpack its 10000 bytes (truncated, or not protobuf)"
}

test_mnist_garbage_model_starts_no_fork() {
	mnist_disk && printf 'this is not a model\n' >"$T/disk/mnist.onnx" &&
		bad_model_case "not an ONNX model: protobuf-c cannot unpack its 20 bytes"
}

# Valid protobuf, but an operator this runtime does not implement: the
# model's Relu renamed Tanh (same length, so the file stays well formed).
test_mnist_model_with_an_unknown_operator_starts_no_fork() {
	mnist_disk && sed 's/Relu/Tanh/g' $MNIST/disk/mnist.onnx >"$T/disk/mnist.onnx" &&
		bad_model_case "node 3 is a 'Tanh': not an operator this runtime implements (Reshape, Div, Gemm, Relu)"
}

test_mnist_missing_model_starts_no_fork() {
	mnist_disk && rm "$T/disk/mnist.onnx" &&
		bad_model_case "cannot open it: No such file or directory"
}

# A fork given an image that is not there, one whose image has the wrong
# size, one whose image lacks pixels and one given a directory each end
# with their own status and a line saying why; the forks around them still
# classify theirs.
test_mnist_forks_with_missing_or_malformed_images_fail_alone() {
	mnist_disk || return 1
	printf 'P2\n28 28\n255\n0 0 0\n' >"$T/disk/big.pgm"
	printf 'P2\n8 8\n16\n0 1 2\n' >"$T/disk/short.pgm"
	mnist_yaml "$T/disk" a:digits/001.pgm missing:digits/nothere.pgm big:big.pgm \
		short:short.pgm dir:digits b:digits/002.pgm >"$T/w.yaml"
	run_iv -a -y "$T/w.yaml"
	expect_rc 1 && expect_out "[a] digit: 3" && expect_out "[b] digit: 4" &&
		expect_err "[missing] mnist: cannot open image 'digits/nothere.pgm': No such file or directory" &&
		expect_err "cVM 'missing' exited with status 2" &&
		expect_err "[big] mnist: image 'big.pgm': it is 28x28; the model takes 8x8" &&
		expect_err "cVM 'big' exited with status 3" &&
		expect_err "[short] mnist: image 'short.pgm': pixel 3 is missing or not in 0..16" &&
		expect_err "cVM 'short' exited with status 3" &&
		expect_err "[dir] mnist: cannot read image 'digits': Is a directory" &&
		expect_err "cVM 'dir' exited with status 2" &&
		expect_err "cVM 'a' exited with status 0" && expect_err "cVM 'b' exited with status 0" &&
		expect_no_out "[missing] digit" && expect_no_out "[big] digit" && expect_no_out "[short] digit"
}

# The cold modes bench/workloads uses: outside any cVM its hostcalls return
# -ENOSYS and it classifies argv[1] after loading the model; a plain cVM
# (no template) classifies the image its args name.
test_mnist_outside_a_cvm_classifies_its_argument() {
	OUT=$(cd $MNIST/disk && timeout 10 "$B/runtime/mnist/mnist" digits/001.pgm 2>&1)
	RC=$?
	expect_rc 0 && expect_out "digit: 3" || return 1
	OUT=$(cd $MNIST/disk && timeout 10 "$B/runtime/mnist/mnist" 2>&1)
	RC=$?
	expect_rc 2 && expect_out "mnist: outside a cVM, give the image as the one argument" || return 1
	OUT=$(MNIST_MODEL=/nonexistent.onnx timeout 10 "$B/runtime/mnist/mnist" x.pgm 2>&1)
	RC=$?
	expect_rc 1 &&
		expect_out "mnist: cannot load the model '/nonexistent.onnx': cannot open it: No such file or directory"
}

test_mnist_plain_cvm_with_args_classifies_them() {
	{
		echo "cVMs:"
		cvm_entry cold "$B/runtime/mnist/mnist" 0x20000000 'args: "digits/002.pgm"' \
			"disk: $ROOT/$MNIST/disk" "disk_ro: 1"
	} >"$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_rc 0 && expect_out "${MNIST_TEMPLATE_LINE/\[mnist\]/[cold]}" &&
		expect_out '[cold] get arg: "digits/002.pgm"' && expect_out "[cold] digit: 4"
}

# The template written to an image in one run classifies in a later run,
# restored without its template and without reading the model again.
test_mnist_restored_from_an_image_classifies() {
	mnist_disk || return 1
	mnist_yaml "$T/disk" >"$T/save.yaml"
	echo "  snapshot_path: $T/snap" >>"$T/save.yaml"
	mkdir -p "$T/snap"
	run_iv -y "$T/save.yaml"
	expect_rc 0 && [ -s "$T/snap/pages.img" ] || fail "no image written" || return 1
	rm "$T/disk/mnist.onnx" # a restore does not load it
	sed -e 's/^- name: mnist$/- name: back/' -e 's/^  template: 1$/  resume: 1\n  args: "digits\/001.pgm"/' \
		"$T/save.yaml" >"$T/back.yaml"
	run_iv -a -y "$T/back.yaml"
	expect_rc 0 && expect_out '[back] get arg: "digits/001.pgm"' && expect_out "[back] digit: 3" &&
		expect_no_out "template: model"
}
