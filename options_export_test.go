package dripcel

// JoinOptions is one Option that applies opts in order, so that a test
// helper can name a set of options.
func JoinOptions(opts ...Option) Option {
	return func(c *config) error {
		for _, opt := range opts {
			if err := opt(c); err != nil {
				return err
			}
		}
		return nil
	}
}
