/// The release of `cpsync` and `cpsyncd`, printed by `--version` (both binaries are always released together).
public enum Release {
    public static let version = "0.9.0"
}
