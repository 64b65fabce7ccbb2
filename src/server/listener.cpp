#include "server/listener.h"

#include <stdexcept>

namespace cdb::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

asio::ip::address listen_address(asio::io_context& io, const std::string& host, const std::string& context) {
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) return literal;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, "", ec);
  if (ec) throw std::invalid_argument("cannot listen on '" + host + "'" + context + ": " + ec.message());
  std::optional<asio::ip::address> v6;
  for (const auto& r : results) {
    const auto a = r.endpoint().address();
    if (a.is_v4()) return a;
    if (!v6) v6 = a;
  }
  if (!v6) throw std::invalid_argument("cannot listen on '" + host + "'" + context + ": it resolves to no address");
  return *v6;
}

void use_server_tls(std::optional<asio::ssl::context>& tls, const std::string& cert, const std::string& key) {
  tls.emplace(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  tls->use_certificate_chain_file(cert);
  tls->use_private_key_file(key, asio::ssl::context::pem);
}

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, const std::string& host,
                   const std::string& context) {
  try {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + host + " port " + std::to_string(endpoint.port()) + context +
                             ": " + e.code().message());
  }
}

}  // namespace cdb::server
