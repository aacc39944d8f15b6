// swift-tools-version:6.0
import PackageDescription

/// Every built-in stage family lives under `Plugins/<Family>` and depends only on the public
/// API of `SluiceCore` and `SluiceFormats` (and `SluiceLua`), the same API a third-party plugin
/// would use; never on `SluiceRuntime`.
///
/// The layers, each depending only on those before it (swift-nio's NIOCore / NIOPosix split):
/// - `SluiceCore`: the record model, the stage protocols, options, registry and resources,
///   diagnostics, delivery contracts, metrics and the cluster protocols;
/// - `SluiceFormats`: JSON reading, file sets (globbing), text decoding, dates, POSIX reads;
/// - `SluiceRuntime`: config loading, the pipeline runner, cluster runs, replay, the SQLite
///   checkpoint store;
/// - the plugins, `SluiceLua`, and `SluiceCLI` on top.
let plugins: [(target: String, folder: String, extra: [Target.Dependency])] = [
    ("SluiceTextArticles", "TextArticles", [.product(name: "Crypto", package: "swift-crypto"), "CCLD2"]),
    ("SluiceJSON", "JSON", []),
    ("SluiceSQLite", "SQLite", ["CSQLite"]),
    ("SluiceLuaStages", "Lua", ["SluiceLua"]),
    ("SluiceBasics", "Basics", [.product(name: "Crypto", package: "swift-crypto")]),
    ("SluiceExec", "Exec", []),
    ("SluicePostgres", "Postgres", ["CLibPQ"]),
]

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let orderedCollections: Target.Dependency = .product(name: "OrderedCollections", package: "swift-collections")
/// Test targets of plugins that name `OrderedCollections` themselves.
let pluginTestExtra: [String: [Target.Dependency]] = [
    "SluiceExec": [orderedCollections], "SluicePostgres": ["CLibPQ"], "SluiceSQLite": ["CSQLite"],
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .library(name: "SluiceCore", targets: ["SluiceCore"]),
        .library(name: "SluiceFormats", targets: ["SluiceFormats"]),
        .library(name: "SluiceRuntime", targets: ["SluiceRuntime"]),
        .library(name: "SluiceLua", targets: ["SluiceLua"]),
        .library(name: "SluiceCLI", targets: ["SluiceCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CLua", path: "Sources/CLua", pkgConfig: "lua5.4",
                       providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        // libpq's header (libpq-dev) at build time; the library itself is loaded with dlopen when a
        // PostgreSQL stage connects (Sources/CLibPQ/loader.c), so that other runs do not map it.
        .target(name: "CLibPQ", path: "Sources/CLibPQ", linkerSettings: [.linkedLibrary("dl")]),
        // Compact Language Detector 2 (Debian's libcld2-dev, no pkg-config file) behind a small
        // C++ shim with a C header: `text_articles` fills `language` with it.
        .target(name: "CCLD2", path: "Sources/CCLD2", linkerSettings: [.linkedLibrary("cld2")]),
        .target(
            name: "SluiceCore",
            dependencies: [
                orderedCollections,
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "SluiceFormats",
            dependencies: [
                "SluiceCore",
                orderedCollections,
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "SluiceRuntime",
            dependencies: [
                "SluiceCore", "SluiceFormats", "CSQLite",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "SluiceLua",
            dependencies: [
                "CLua", "CPCRE2", "SluiceCore", "SluiceFormats", orderedCollections,
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "SluiceCLI",
            dependencies: ["SluiceCore", "SluiceFormats", "SluiceRuntime", "SluiceLua",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
                + plugins.map { .target(name: $0.target) },
            swiftSettings: swiftSettings),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "sluice-bench", dependencies: ["SluiceCLI", "SluiceCore", "SluiceFormats", "SluiceRuntime", "SluiceLua"]
                + plugins.map { .target(name: $0.target) },
                path: "Benchmarks/sluice-bench", swiftSettings: swiftSettings),
        .target(name: "SluiceTestSupport", dependencies: ["SluiceCore"], path: "Tests/Support",
                swiftSettings: swiftSettings),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "SluiceTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "SluiceFormatsTests", dependencies: ["SluiceFormats", "SluiceCore", "SluiceTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "SluiceRuntimeTests",
                    dependencies: ["SluiceRuntime", "SluiceFormats", "SluiceCore", "SluiceTestSupport"],
                    swiftSettings: swiftSettings),
        // The plugin author's guide (docs/plugins.md): its stage is compiled and run here.
        .testTarget(name: "PluginGuideTests",
                    dependencies: ["SluiceCore", "SluiceRuntime", "SluiceJSON", "SluiceTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "SluiceLuaTests", dependencies: ["SluiceLua", "SluiceCore", "SluiceFormats", "SluiceTestSupport",
                                                          orderedCollections],
                    swiftSettings: swiftSettings),
        .testTarget(name: "SluiceCLITests", dependencies: ["SluiceCLI", "SluiceCore", "SluiceRuntime", "SluiceTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["sluice", "SluiceCore", "SluiceFormats", "SluiceRuntime",
                                                              "SluiceTestSupport", "CSQLite"],
                    swiftSettings: swiftSettings),
    ]
        + plugins.flatMap { plugin -> [Target] in [
            .target(name: plugin.target,
                    dependencies: ["SluiceCore", "SluiceFormats", .product(name: "Logging", package: "swift-log")]
                        + plugin.extra,
                    path: "Plugins/\(plugin.folder)",
                    swiftSettings: swiftSettings),
            .testTarget(name: "\(plugin.target)Tests",
                        dependencies: [.target(name: plugin.target), "SluiceCore", "SluiceFormats", "SluiceRuntime",
                                       "SluiceTestSupport"] + (pluginTestExtra[plugin.target] ?? []),
                        swiftSettings: swiftSettings),
        ] }
)
