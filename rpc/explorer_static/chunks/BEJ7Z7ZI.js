import{a as r,b as o}from"./CZYGEABC.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{r as RailroadEbnfModule,o as createRailroadEbnfServices};
