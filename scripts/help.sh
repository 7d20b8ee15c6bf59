# Sourced first by Ponte's scripts, before anything slow, so that `--help` answers at once.
#   ponte_help "$0" "$@"        with -h or --help: prints the script's header comment, exits 0
#   ponte_tool_help BIN "$@"    with -h or --help: builds the tool BIN (debug) and shows its own
#                               --help, which explains each option
ponte_wants_help() {
  case "${1:-}" in -h | --help) return 0 ;; *) return 1 ;; esac
}

ponte_help() {
  local script="$1"
  shift
  ponte_wants_help "$@" || return 0
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$script"
  exit 0
}

ponte_tool_help() {
  local bin="$1"
  shift
  ponte_wants_help "$@" || return 0
  cargo build --locked -p ponte-devtools --bin "$bin"
  exec "${CARGO_TARGET_DIR:-target}/debug/$bin" --help
}
