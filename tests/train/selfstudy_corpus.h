// The corpus and probes of the self-study evidence test: short stories in
// the TinyStories style (so that stories260K can model them) about invented
// people, pets and places, and probes about them phrased differently from
// the corpus, so that only a model that has taken the facts in (in context
// or in a Cartridge) finds the continuations likely.
#pragma once

namespace cdb::test {

inline constexpr const char* kStoriesCorpus =
    "Once upon a time, there was a girl named Zuli. Zuli had a little frog named Bimbo. "
    "Bimbo was green and he liked to sing. Every day, Zuli and Bimbo went to the pond by the old mill. "
    "One day, Zuli saw a big fish in the pond. The fish was named Kato. Kato was orange and very shy. "
    "Bimbo sang a song and Kato came up to eat.\n"
    "Tom had a dog named Roxy. Roxy had a red hat. Roxy liked to dig in the garden. "
    "One day, Roxy found a shiny key under the tree. Tom took the key and opened the blue box. "
    "In the box, there were seven cookies. Tom and Roxy shared the cookies with Zuli.\n"
    "Mia lived in a small town called Pimble. In Pimble, it was always sunny. "
    "Mia had a kite shaped like a star. She flew the kite with her friend Lulu. "
    "The wind took the kite up high, and it got stuck in a tall tree. "
    "Lulu climbed the tree and got the kite back. Mia gave Lulu a big hug.\n";

// Likelihood probes: a prompt that does not copy the corpus's wording and a
// continuation that only the corpus makes likely.
//
// How they were chosen: stories260K (ctx 512, trained on short stories)
// reads a 440-token context mostly near its end; with the corpus in context
// it copies Zuli, Lulu, Pimble, "seven" and Bimbo's facts but finds the names
// of the first story's pond and the second story's dog (Kato, Roxy, "old
// mill", "red") *less* likely than without context (measured per probe,
// ICL - none: -0.2 .. -1.1 nat/token). A probe on which ICL itself does not
// help cannot show whether a Cartridge recovers ICL, so only probes with a
// measured ICL gain of at least 0.15 nat/token are kept (16 of 51 written);
// the selection uses ICL and no-context only, never the Cartridge. On these
// ICL gains 0.73 nat/token over no context.
inline constexpr const char* kStoriesProbes =
    R"({"prompt": "Mia and her friend lived in a sunny town. The town was called", "continuation": " Pimble."}
{"prompt": "Mia flew her star kite with her friend", "continuation": " Lulu."}
{"prompt": "The girl who had a frog was named", "continuation": " Zuli."}
{"prompt": "Tom opened the box with the key. Inside the box there were", "continuation": " seven cookies."}
{"prompt": "The kite got stuck in a tree. The one who climbed the tree was", "continuation": " Lulu."}
{"prompt": "Bimbo was a little", "continuation": " frog"}
{"prompt": "There were cookies in the box. How many? There were", "continuation": " seven"}
{"prompt": "Mia's friend was called", "continuation": " Lulu"}
{"prompt": "Mia's kite looked like a", "continuation": " star"}
{"prompt": "Bimbo the frog liked to", "continuation": " sing"}
{"prompt": "Tom and Roxy gave some cookies to", "continuation": " Zuli"}
{"prompt": "The girl with the frog was called", "continuation": " Zuli"}
{"prompt": "Mia hugged", "continuation": " Lulu"}
{"prompt": "Zuli and Bimbo went to the", "continuation": " pond"}
{"prompt": "Mia had a friend. Her friend's name was", "continuation": " Lulu"}
{"prompt": "Mia lived in the town of", "choices": [" Pimble.", " Kato.", " Bimbo."], "answer": 0}
)";

}  // namespace cdb::test
