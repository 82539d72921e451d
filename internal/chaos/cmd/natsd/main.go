// Command natsd is nats-server, built from the nats-server module Gavel
// already depends on, so the fault suite (internal/chaos) can run a real
// NATS cluster from processes on a machine without Docker or Debian's
// much older nats-server. It takes nats-server's own flags, the ones
// docker-compose.yml gives the nats services.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	fs := flag.NewFlagSet("natsd", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: natsd [nats-server flags], e.g. natsd -js -sd DIR -p 4222 --cluster nats://127.0.0.1:6222 --routes …")
	}
	opts, err := server.ConfigureOptions(fs, os.Args[1:], server.PrintServerAndExit, fs.Usage, server.PrintTLSHelpAndDie)
	if err != nil {
		server.PrintAndDie("natsd: " + err.Error())
	}
	s, err := server.NewServer(opts)
	if err != nil {
		server.PrintAndDie("natsd: " + err.Error())
	}
	s.ConfigureLogger()
	if err := server.Run(s); err != nil {
		server.PrintAndDie("natsd: " + err.Error())
	}
	s.WaitForShutdown()
}
