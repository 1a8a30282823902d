// Node module hook for the pinning-service compliance suite: its constants module names the
// spec's YAML by URL (fetched at run time) and writes reports into its own package folder.
// Here the spec is our local schemas file and reports go to $COMPLIANCE_OUT.
import { register } from 'node:module'

register('./local-spec-loader.mjs', import.meta.url)
