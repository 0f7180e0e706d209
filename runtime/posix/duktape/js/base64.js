// The seed's test: base64 of "Hello There", encoded by hand in JS.
var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(text) {
	var out = "";
	for (var i = 0; i < text.length; i += 3) {
		var a = text.charCodeAt(i), b = text.charCodeAt(i + 1), c = text.charCodeAt(i + 2);
		var n = (a << 16) | ((b || 0) << 8) | (c || 0);
		out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63);
		out += i + 1 < text.length ? ALPHABET.charAt((n >> 6) & 63) : "=";
		out += i + 2 < text.length ? ALPHABET.charAt(n & 63) : "=";
	}
	return out;
}

print(base64("Hello There"));
