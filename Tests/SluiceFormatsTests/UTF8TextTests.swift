import SluiceFormats
import Testing

/// The standard library's answer: the offset where its UTF-8 parser first reports an error.
private func referenceFirstInvalid(_ bytes: [UInt8]) -> Int? {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let encoded): offset += encoded.count
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}

private func firstInvalid(_ bytes: [UInt8]) -> Int? {
    bytes.withUnsafeBufferPointer { UTF8Text.firstInvalid($0) }
}

private func string(_ bytes: [UInt8]) -> String? {
    bytes.withUnsafeBufferPointer { UTF8Text.string(validating: $0) }
}

@Suite("UTF-8 checked once (UTF8Text)")
struct UTF8TextTests {
    @Test("every one- and two-byte sequence is judged as the standard library judges it")
    func allShortSequences() {
        for a in 0...255 {
            let one = [UInt8(a)]
            #expect(firstInvalid(one) == referenceFirstInvalid(one), "\(one)")
            for b in 0...255 {
                let two = [UInt8(a), UInt8(b)]
                if firstInvalid(two) != referenceFirstInvalid(two) {
                    Issue.record("\(two): \(String(describing: firstInvalid(two))) vs \(String(describing: referenceFirstInvalid(two)))")
                }
            }
        }
    }

    @Test("every three-byte sequence with a lead byte E0…F4, and the edges of four-byte ones")
    func threeAndFourByteSequences() {
        var wrong = 0
        for a in 0xE0...0xF4 {
            for b in 0...255 {
                for c in [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF] {
                    let three = [UInt8(a), UInt8(b), UInt8(c)]
                    if firstInvalid(three) != referenceFirstInvalid(three) { wrong += 1 }
                    for d in [0x41, 0x80, 0xBF, 0xC0] {
                        let four = [UInt8(a), UInt8(b), UInt8(c), UInt8(d)]
                        if firstInvalid(four) != referenceFirstInvalid(four) { wrong += 1 }
                    }
                }
            }
        }
        #expect(wrong == 0)
    }

    @Test("a bad byte is found at every offset, across the eight-byte steps, after valid non-ASCII text")
    func badByteAtEveryOffset() {
        let prose = Array("Le café coûte 3 € — “très cher”, dit-il. 東京 🙂 ".utf8)
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 31, 64, prose.count] {
            let valid = Array((0..<length).map { prose[$0 % prose.count] })
            for bad: [UInt8] in [[0x80], [0xC0, 0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
                // Cut the valid prefix at a scalar boundary so only the bad bytes are bad.
                var cut = valid
                while let last = cut.last, referenceFirstInvalid(cut) != nil || last & 0xC0 == 0xC0 { cut.removeLast() }
                let bytes = cut + bad + Array("tail text".utf8)
                #expect(firstInvalid(bytes) == cut.count, "\(cut.count) + \(bad)")
                #expect(firstInvalid(bytes) == referenceFirstInvalid(bytes))
                #expect(string(bytes) == nil)
            }
        }
    }

    @Test("random bytes: the same verdict and offset as the standard library")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        // Mostly ASCII with some multi-byte lead and continuation bytes, the mix real text has.
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0xC3, 0xA9, 0xE2, 0x80, 0x94, 0xF0, 0x9F, 0x99, 0x82, 0xED, 0xBF]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator) ?? 0x20 }
            let expected = referenceFirstInvalid(bytes)
            #expect(firstInvalid(bytes) == expected, "\(bytes)")
            if expected == nil {
                #expect(string(bytes) == String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    @Test("valid text comes back as the same string, ASCII or not, short or long")
    func validTextRoundTrips() {
        for text in ["", "a", "plain ASCII text that is longer than sixteen bytes", "é", "Zürich — 東京 🙂",
                     String(repeating: "naïve café ", count: 500)] {
            #expect(string(Array(text.utf8)) == text)
            #expect(string(Array(text.utf8))?.count == text.count)
        }
    }
}
