package dripcelpg

// LoseSettleAcknowledgement makes q's next n settles commit and then fail,
// as a settle does whose connection is lost after COMMIT reached the
// database and before its acknowledgement came back.
func LoseSettleAcknowledgement(q *Queue, n int) {
	q.afterCommit = func() error {
		if n <= 0 {
			return nil
		}
		n--
		return errAcknowledgementLost
	}
}

var errAcknowledgementLost = connError("the connection was lost after COMMIT")

type connError string

func (e connError) Error() string { return string(e) }
