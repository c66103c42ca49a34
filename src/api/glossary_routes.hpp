#pragma once
// A room's glossary over REST (issue 11): read it and its history (members), change it
// (owners and admins), propose fixes (members) and decide them (owners and admins).
//
//   GET    /api/chatrooms/{id}/glossary                    -> {glossary}
//   PUT    /api/chatrooms/{id}/glossary/terms               {term, translations, pronunciation?}
//   DELETE /api/chatrooms/{id}/glossary/terms/{term_id}
//   GET    /api/chatrooms/{id}/glossary/history            -> {changes}
//   POST   /api/chatrooms/{id}/glossary/proposals           {term, language, translation,
//                                                            message_id?, note?} -> 201
//   GET    /api/chatrooms/{id}/glossary/proposals          -> {proposals}
//   POST   /api/chatrooms/{id}/glossary/proposals/{proposal_id}/accept | /reject

#include "api/account_routes.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "glossary/glossary_store.hpp"
#include "net/router.hpp"

namespace parley::api {

struct GlossaryRoutesDeps {
  const AccountRoutesDeps& accounts;
  glossary::GlossaryStore& glossaries;
  core::WorkerPool& workers;
  core::Logger& log;
};

void add_glossary_routes(net::Router& router, const GlossaryRoutesDeps& deps);

}  // namespace parley::api
