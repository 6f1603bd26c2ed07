package publish

import (
	"context"
	"errors"
	"strings"
)

// Multi publishes to each of ps in turn and stops at the first failure. Its
// Result is the first publisher's, with Pushed and PushedBytes summed over
// all of them; callers that need every output's Result call the publishers
// themselves.
func Multi(ps ...Publisher) Publisher {
	return multiPublisher(ps)
}

type multiPublisher []Publisher

func (m multiPublisher) String() string {
	names := make([]string, len(m))
	for i, p := range m {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

func (m multiPublisher) Publish(ctx context.Context, a Artifact) (Result, error) {
	if len(m) == 0 {
		return Result{}, errors.New("publish: no outputs")
	}
	var res Result
	for i, p := range m {
		r, err := p.Publish(ctx, a)
		if err != nil {
			return Result{}, err
		}
		if i == 0 {
			res = r
			continue
		}
		res.Pushed = append(res.Pushed, r.Pushed...)
		res.PushedBytes += r.PushedBytes
	}
	return res, nil
}
