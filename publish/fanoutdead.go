package publish

// Fan-out jobs that fail for good, and their retry.
//
// A job's batches are retried on fanoutPolicy's schedule; one that still
// fails after it (or fails permanently) ends the job in the transaction
// that records it dead: its batches not yet written (store.PrefixFanout
// keys) are deleted, and the inboxes they name move into the job's
// record (Payload: inbox paths, newline-separated), which is kept as a
// dead letter of the publisher's outbox (kind "fanout"), where its owner
// sees it and can retry it. The retry writes the batches back
// (fanoutRevive), and the job runs again from them, each copy still once
// per inbox (AppendAll).

import (
	"bytes"
	"encoding/binary"

	"podserver/deliver"
	"podserver/store"
)

// jobPolicy returns the queue policy of s's fan-out jobs: fanoutPolicy,
// with a job that fails for good kept as a dead letter.
func (s *Service) jobPolicy() deliver.Policy {
	p := fanoutPolicy(s.cfg.FanoutLag)
	p.Dead, p.Revive = s.fanoutDead, s.fanoutRevive
	return p
}

// fanoutMediaType is the media type of a dead fan-out job's Payload.
const fanoutMediaType = "text/plain"

// fanoutDead ends the job of r, which failed for good: in tx, its
// batches not yet written go, and the inboxes they name move into r.
func (s *Service) fanoutDead(tx store.Txn, r *deliver.Record) error {
	left, err := takeBatches(tx, fanoutPrefix(r.Event))
	if err != nil {
		return err
	}
	r.Payload, r.MediaType = left, fanoutMediaType
	return nil
}

// takeBatches deletes, in tx, the batches under a job's prefix not yet
// written, and returns the inbox paths they held, newline-separated.
func takeBatches(tx store.Txn, prefix []byte) ([]byte, error) {
	var keys [][]byte
	var left []byte
	err := tx.Scan(prefix, nil, false, func(k, v []byte) error {
		keys = append(keys, bytes.Clone(k))
		if len(left) > 0 && len(v) > 0 {
			left = append(left, '\n')
		}
		left = append(left, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return nil, err
		}
	}
	return left, nil
}

// fanoutRevive writes the inboxes r, a dead job retried, holds back into
// batches (after any its event has already), for the job to write.
func (s *Service) fanoutRevive(tx store.Txn, r *deliver.Record) error {
	next := uint32(0)
	err := tx.Scan(fanoutPrefix(r.Event), nil, true, func(k, _ []byte) error {
		next = binary.BigEndian.Uint32(k[len(k)-4:]) + 1
		return store.ErrStop
	})
	if err != nil {
		return err
	}
	paths := r.Payload
	r.Payload, r.MediaType = nil, ""
	for len(paths) > 0 {
		end := len(paths)
		for i, n := 0, 0; i < len(paths); i++ {
			if paths[i] == '\n' {
				if n++; n == s.cfg.FanoutBatch {
					end = i
					break
				}
			}
		}
		if err := tx.Set(fanoutKey(r.Event, next), paths[:end]); err != nil {
			return err
		}
		next++
		paths = paths[min(end+1, len(paths)):]
	}
	return nil
}

// FanoutCopies returns how many inbox copies the dead fan-out job r
// holds back (0 for another record): for the outbox's view.
func FanoutCopies(r deliver.Record) int {
	if r.Kind != deliver.KindFanout {
		return 0
	}
	return countPaths(r.Payload)
}

// countPaths counts the newline-separated inbox paths in b.
func countPaths(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return bytes.Count(b, []byte{'\n'}) + 1
}
