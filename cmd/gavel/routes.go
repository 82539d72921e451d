package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/gavel-auctions/gavel/internal/config"
)

const routesUsage = `Usage: gavel routes [--role all|api|realtime]

Prints, as JSON, every route a node of the role serves: method, path pattern
and body limit. It starts a throwaway node (SQLite and NATS in a temporary
directory, nothing listening beyond loopback) to read its route table, so
the list is exactly what gavel serve registers. The hostile-client suite
(internal/hostile) builds its authorization matrix from it.
`

// routesCmd prints the routes of a node of cfg's role.
func routesCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseRoutes(args, getenv, stdout)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gavel-routes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir, cfg.DatabaseURL, cfg.NATSURL, cfg.Demo = dir, "", "", config.DemoOff
	cfg.Addr, cfg.Edge.MetricsAddr = "127.0.0.1:0", ""
	n, err := startNode(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	routes := n.srv.Routes()
	if err := n.shutdown(context.Background()); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(routes)
}

func parseRoutes(args []string, getenv func(string) string, stdout io.Writer) (config.Config, error) {
	fs := newFlagSet("routes")
	role := config.RoleAll
	fs.Func("role", "all, api or realtime", func(s string) error { return role.Set(s) })
	if err := parseFlags(fs, args, routesUsage, stdout); err != nil {
		return config.Config{}, err
	}
	cfg := config.Default()
	cfg.Role = role
	// Only the log settings of the environment matter here: the node is a
	// throwaway.
	env := config.Default()
	if err := env.FromEnv(getenv); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	cfg.LogLevel, cfg.LogFormat = max(env.LogLevel, slog.LevelWarn), env.LogFormat
	return cfg, nil
}
