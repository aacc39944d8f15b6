import SluiceCore
import Testing

@Suite("Diagnostics")
struct DiagnosticsTests {
    @Test("did-you-mean finds near misses and stays quiet for unrelated words")
    func suggestions() {
        #expect(Suggest.closest(to: "proces", in: ["process", "init", "finish"]) == "process")
        #expect(Suggest.closest(to: "fnish", in: ["process", "init", "finish"]) == "finish")
        #expect(Suggest.closest(to: "tabel", in: ["table", "path"]) == "table")
        #expect(Suggest.closest(to: "zzzz", in: ["process", "init"]) == nil)
    }
}
