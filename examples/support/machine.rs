//! The machine a native benchmark ran on, printed with its figures.

/// The CPU's model name and the threads available.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let name = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    format!(
        "{name} × {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}
