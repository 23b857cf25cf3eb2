//! Prints the documented sample configuration (same output as `accord config sample`).

fn main() {
    print!("{}", accord_config::sample());
}
