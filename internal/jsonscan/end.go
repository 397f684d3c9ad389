package jsonscan

// End returns the index after the JSON value that starts at doc[i] (no whitespace
// before it), checking it as Valid does; ok is false when no valid value starts
// there. Translators that walk a document Members already validated use it to step
// over values they copy or ignore: strings are skipped eight bytes at a time.
func End(doc []byte, i int) (end int, ok bool) {
	var s scanner
	return s.value(doc, i, 0)
}
