package jsonfield

import "errors"

// ErrNotArray is returned for input that is not a well-formed JSON array.
var ErrNotArray = errors.New("jsonfield: not a JSON array")

// EachElement calls fn with the raw value of every element of the array in arr, in
// order, stopping early when fn returns false. Like Each, it checks structure only.
func EachElement(arr []byte, fn func(value []byte) bool) error {
	bad := false
	_, err := EachElementAt(arr, 0, func(v int) int {
		end, ok := skipValue(arr, v)
		if bad = !ok; bad || !fn(arr[v:end]) {
			return -1
		}
		return end
	})
	switch {
	case bad:
		return ErrNotArray
	case err == ErrStopped:
		return nil
	}
	return err
}

// EachElementAt is EachElement for the array that starts at b[i] (after any
// space), for a caller that reads each element itself: fn gets the index of
// the element's first byte and returns the index just past it as it read it,
// or -1 to stop (ErrStopped). EachElementAt returns the index just past the
// array (see EachAt).
func EachElementAt(b []byte, i int, fn func(v int) int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return 0, ErrNotArray
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end := fn(i)
		if end < 0 {
			return 0, ErrStopped
		}
		next, done, ok := afterValue(b, i, end, ']')
		switch {
		case !ok:
			return 0, ErrNotArray
		case done:
			return next, nil
		}
		i = next
	}
}
