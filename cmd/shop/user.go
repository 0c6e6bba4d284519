package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/identity"
)

// runUser implements `shop user create`: the way to make the first admin.
// The password comes from SHOP_USER_PASSWORD or standard input, never from
// the command line, where other users of the machine could read it.
func runUser(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: shop user create -username NAME -email EMAIL [-role customer|staff|admin] [-if-not-exists]")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	username := fs.String("username", "", "login name")
	email := fs.String("email", "", "email address")
	roleName := fs.String("role", "customer", "customer, staff or admin")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed quietly when the username or email is taken")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	role, err := identity.ParseRole(*roleName)
	if err != nil {
		return err
	}
	password := os.Getenv("SHOP_USER_PASSWORD")
	if password == "" {
		fmt.Fprint(os.Stderr, "password (from standard input): ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: set SHOP_USER_PASSWORD or pipe it on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc := identity.NewService(pool, nil, nil, cfg.RefreshTokenTTL, log)
	u, err := svc.CreateUser(ctx, identity.RegisterInput{
		Username: *username, Email: *email, Password: password, FirstName: *first, LastName: *last,
	}, role)
	if *ifNotExists && (errors.Is(err, identity.ErrUsernameTaken) || errors.Is(err, identity.ErrEmailTaken)) {
		fmt.Printf("user %s already exists\n", *username)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("created %s user %s (id %d)\n", u.Role, u.Username, u.ID)
	return nil
}
