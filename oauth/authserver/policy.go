package authserver

import (
	"context"
	"fmt"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/peercred"
)

// ClientPolicy returns the connection policy of an authorization app: the
// same user as this process, and the users its registered clients name
// (Client.UID). Other users are refused before any request is read.
//
// A peer of another user is looked up in the store when it connects, so a
// client registered while the server runs (httpipc auth client add, a
// separate process on the same file) is admitted from its next connection,
// and one removed or re-registered without its uid is no longer admitted.
// When the store cannot be read the peer is refused.
func (s *Store) ClientPolicy() httpipc.Policy {
	same := httpipc.SameUser()
	return func(p *peercred.Creds) error {
		err := same(p)
		if err == nil || p == nil || p.UID < 0 {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ok, qerr := s.uidRegistered(ctx, p.UID)
		switch {
		case qerr != nil:
			return fmt.Errorf("%w: uid %d: the registered clients cannot be read: %v", httpipc.ErrNotAllowed, p.UID, qerr)
		case !ok:
			return fmt.Errorf("%w: uid %d is neither this process's user nor that of a registered client", httpipc.ErrNotAllowed, p.UID)
		}
		return nil
	}
}

// ClientUIDs returns the distinct OS user ids that registered clients name.
func (s *Store) ClientUIDs(ctx context.Context) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT uid FROM clients WHERE uid IS NOT NULL ORDER BY uid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var uids []int
	for rows.Next() {
		var u int
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		uids = append(uids, u)
	}
	return uids, rows.Err()
}

func (s *Store) uidRegistered(ctx context.Context, uid int) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM clients WHERE uid = ?`, uid).Scan(&n)
	return n > 0, err
}
