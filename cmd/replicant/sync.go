package main

import (
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/replicate"
)

// runSync is "replicant sync": parse flags, then copy and follow
// (package replicate) until a signal or an error.
func runSync(args []string, stdout, stderr io.Writer) int {
	var o syncOptions
	if code, stop := parseFlags(syncFlags(&o), args, stdout, stderr); stop {
		return code
	}
	logOut, tw := progressOutput(stderr, o.LogFormat)
	log, err := newLogger(logOut, o.LogFormat, o.LogLevel)
	if err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	// A cluster source's set-up talks to it (CLUSTER SLOTS): its failures
	// are the sync's, not usage errors.
	setupFailed := exitUsage
	if src, err := replicate.ParseURL(o.Source); err == nil && src.Cluster {
		setupFailed = exitError
	}
	cfg, err := o.config(log, tw)
	if err != nil {
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return setupFailed
	}
	s, err := replicate.New(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return setupFailed
	}
	closeEndpoints, err := listenEndpoints(o, s.Provider(), log)
	if err != nil {
		s.Shutdown()
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return exitUsage
	}
	defer closeEndpoints()
	if err := s.Run(ctx); err != nil {
		reportFailure(log, stderr, o.LogFormat, err)
		return exitError
	}
	return exitOK
}

// config turns the flags into the engine's configuration: URLs parsed, TLS
// files loaded, the progress bar drawn on tw (nil: none).
func (o *syncOptions) config(log zerolog.Logger, tw *termWriter) (replicate.Config, error) {
	src, err := replicate.ParseURL(o.Source)
	if err != nil {
		return replicate.Config{}, fmt.Errorf("--source: %w", err)
	}
	var dst replicate.Endpoint
	if o.Target != "" { // else a twemproxy pool, from --twemproxy-config
		if dst, err = replicate.ParseURL(o.Target); err != nil {
			return replicate.Config{}, fmt.Errorf("--target: %w", err)
		}
	}
	if src.TLS != nil || dst.TLS != nil { // rediss://: the --tls-* flags' settings
		tlsCfg, err := o.TLS.config("")
		if err != nil {
			return replicate.Config{}, err
		}
		for _, ep := range []*replicate.Endpoint{&src, &dst} {
			if ep.TLS != nil {
				ep.TLS = tlsCfg
			}
		}
	}
	cfg := o.Engine
	cfg.Source, cfg.Target, cfg.Filter = src, dst, o.Filter.config()
	cfg.Logger, cfg.Version = log, version
	if tw != nil && !src.Cluster { // one bar per shard would garble the terminal
		cfg.OnSnapshot = replicate.ProgressLines(progressEvery, tw.draw, tw.clear)
	}
	return cfg, nil
}

// reportFailure logs why the sync failed; with text logs to a file or a
// pipe it adds the plain line "replicant: <error>" for the operator. With
// JSON logs the JSON record is the one line.
func reportFailure(log zerolog.Logger, stderr io.Writer, format string, err error) {
	log.Error().Err(err).Msg("sync failed")
	if format == "text" && !isTerminal(stderr) {
		fmt.Fprintf(stderr, "replicant: %v\n", err)
	}
}
