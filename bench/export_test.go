package bench

// PageForTest exposes a parsed inbox page to the external tests.
type PageForTest struct {
	Sent  []int64
	Items int
	Next  string
}

// ParsePageForTest runs parsePage.
func ParsePageForTest(b []byte) (PageForTest, error) {
	pg, err := parsePage(b)
	return PageForTest{Sent: pg.sent, Items: pg.items, Next: pg.next}, err
}
