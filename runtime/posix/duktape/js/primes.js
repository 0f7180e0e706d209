// Some computing: the primes below 100 by a sieve, their count and sum, and
// a check of the JS base64 above against Duktape's own encoder.
var limit = 100, sieve = [], primes = [];
for (var i = 2; i < limit; i++) {
	if (sieve[i])
		continue;
	primes.push(i);
	for (var j = i * i; j < limit; j += i)
		sieve[j] = true;
}
var sum = primes.reduce(function (s, p) { return s + p; }, 0);
print("primes below " + limit + ":", primes.length, "sum", sum);
print("Duktape.enc base64:", Duktape.enc("base64", "Hello There"));
