package main

import (
	"flag"

	"github.com/replicant/replicant/filter"
)

// filterOptions are the flags of "replicant sync" choosing what is copied
// (package filter has the rules).
type filterOptions struct {
	DBs, SkipDBs   filter.DBList
	Keys, SkipKeys filter.Patterns
	SkipCommands   filter.Names
	DBMap          filter.DBMap
}

func (o *filterOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.DBs, "db", "copy only these source `databases` (repeatable, or a comma list; default: all)")
	fs.Var(&o.SkipDBs, "skip-db", "leave out these source `databases` (repeatable, or a comma list)")
	fs.Var(&o.Keys, "key", "copy only keys matching this `pattern` (repeatable): prefix:TEXT, glob:TEXT (Redis glob), regex:TEXT (Go regexp), or a bare TEXT as a prefix")
	fs.Var(&o.SkipKeys, "skip-key", "leave out keys matching this `pattern` (repeatable; forms as --key)")
	fs.Var(&o.SkipCommands, "skip-command", "leave out this `command` of the live stream (repeatable, or a comma list)")
	fs.Var(&o.DBMap, "db-map", "`FROM=TO[:PREFIX][,...]`: write the keys of source database FROM into target database TO, their names prefixed with PREFIX if given (repeatable); a cluster or twemproxy target has db 0 only, so e.g. 1=0:db1: puts db 1 under \"db1:\"")
}

// config is the filter configuration of the flags.
func (o *filterOptions) config() filter.Config {
	return filter.Config{
		AllowDBs: o.DBs, DenyDBs: o.SkipDBs, AllowKeys: o.Keys, DenyKeys: o.SkipKeys,
		DenyCommands: o.SkipCommands, DBMap: o.DBMap.To, KeyPrefix: o.DBMap.Prefix,
	}
}
